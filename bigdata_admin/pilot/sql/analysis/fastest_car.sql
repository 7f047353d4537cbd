-- Impala: the fastest car of each area on the day (rank 1 of the average speed per area).
SELECT area_number, car_number, avg_speed
FROM (
  SELECT area_number, car_number, avg_speed,
         rank() OVER (PARTITION BY area_number ORDER BY avg_speed DESC) AS speed_rank
  FROM (
    SELECT area_number, car_number, avg(cast(speed AS double)) AS avg_speed
    FROM Managed_SmartCar_Drive_Info
    WHERE biz_date = '${working_day}'
    GROUP BY area_number, car_number
  ) per_car
) ranked
WHERE speed_rank = 1
ORDER BY area_number, car_number
